import subprocess
import sys

from copymtl_allennlp.allocator import keep_freed_memory, keep_freed_memory_if_asked
from tests.conftest import ROOT


def test_user_settings_are_respected(monkeypatch):
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    # applied on glibc (Linux), a no-op elsewhere
    assert keep_freed_memory() is sys.platform.startswith("linux")


def test_opt_in_only(monkeypatch):
    monkeypatch.delenv("COPYMTL_KEEP_FREED_MEMORY", raising=False)
    assert keep_freed_memory_if_asked() is False
    monkeypatch.setenv("COPYMTL_KEEP_FREED_MEMORY", "0")
    assert keep_freed_memory_if_asked() is False
    monkeypatch.setenv("COPYMTL_KEEP_FREED_MEMORY", "1")
    assert keep_freed_memory_if_asked() is sys.platform.startswith("linux")


def test_importing_the_plugin_changes_no_allocator_setting_by_default():
    # mallopt is the only way in: importing the plugin with it replaced must not call it
    code = (
        "import ctypes, os; os.environ.pop('COPYMTL_KEEP_FREED_MEMORY', None); calls = []; "
        "import copymtl_allennlp.allocator as a; a.keep_freed_memory = lambda: calls.append(1); "
        "import copymtl_allennlp.plugin; print(len(calls))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "0"
