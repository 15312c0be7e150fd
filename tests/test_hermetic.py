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


@pytest.fixture(scope="module")
def model_path_seen_by_a_module_fixture() -> Path:
    return default_model_path()


def test_module_fixtures_see_private_directories_too(
    model_path_seen_by_a_module_fixture: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Module-scoped fixtures run before function-scoped autouse ones: `import reports` in one
    once read the user's trained model and found techniques the test did not expect."""
    path = model_path_seen_by_a_module_fixture
    assert path.is_relative_to(tmp_path_factory.getbasetemp()), path
    assert not any(path.is_relative_to(user) for user in USER_DIRS), path
