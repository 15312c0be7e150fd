"""Tests never read the user's directories (issue 10, item 2): a model trained by the user, their
knowledge base or their caches must not change what a test sees."""

from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from threatscope.config import default_db_location
from threatscope.extract.techniques import default_model_path
from threatscope.extract.warninglists import _cache_path

# Read when pytest imports this module, before any fixture runs: the user's own directories.
USER_DIRS = [
    Path(platformdirs.user_data_dir("threatscope")),
    Path(platformdirs.user_cache_dir("threatscope")),
    Path(platformdirs.user_config_dir("threatscope")),
    Path("~").expanduser(),
]


def test_user_directories_point_into_a_temp_folder(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    temp_root = tmp_path_factory.getbasetemp()
    defaults = [Path(default_db_location()), default_model_path(), _cache_path()]
    defaults.append(Path(platformdirs.user_config_dir("threatscope")))
    for path in defaults:
        assert path.is_relative_to(temp_root), path
        assert not any(path.is_relative_to(user) for user in USER_DIRS), path
    assert not default_model_path().exists()
    assert not Path(default_db_location()).exists()
