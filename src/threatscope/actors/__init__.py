"""Actor resolution: one canonical actor per real-world group, with provenance and conflicts."""

from threatscope.actors.lookup import find_actor
from threatscope.actors.resolve import resolve_actors
from threatscope.actors.split import join_member, split_member

__all__ = ["find_actor", "join_member", "resolve_actors", "split_member"]
