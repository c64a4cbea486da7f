import sys

from copymtl_allennlp.allocator import keep_freed_memory


def test_switch_and_user_settings_are_respected(monkeypatch):
    monkeypatch.setenv("COPYMTL_KEEP_FREED_MEMORY", "0")
    assert keep_freed_memory() is False
    monkeypatch.delenv("COPYMTL_KEEP_FREED_MEMORY")
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "131072")
    assert keep_freed_memory() is False
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    # applied on glibc (Linux), a no-op elsewhere
    assert keep_freed_memory() is sys.platform.startswith("linux")
