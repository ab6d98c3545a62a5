"""A large tree that keeps changing (a bulk import) is reloaded at most every RELOAD_SHARE × its load
time, so reloading stays a bounded share of reporting's time at any size; a small tree is always fresh."""

from services.reporting.cache import RELOAD_SHARE, THROTTLED_FROM, reload_due


def test_a_small_tree_is_always_read_again():
    assert reload_due(now=100.0, loaded_at=99.99, load_seconds=0.02)
    assert reload_due(now=100.0, loaded_at=float("-inf"), load_seconds=0.0)  # never loaded


def test_a_large_tree_is_read_again_once_its_share_of_time_has_passed():
    load = 4.0  # about 100 000 units here
    assert load >= THROTTLED_FROM
    assert not reload_due(now=100.0, loaded_at=95.0, load_seconds=load)
    assert reload_due(now=100.0, loaded_at=100.0 - RELOAD_SHARE * load, load_seconds=load)
    # over a long import the reloads take at most 1 / (RELOAD_SHARE + 1) of the time, at any size
    now, loaded_at, busy = 0.0, float("-inf"), 0.0
    while now < 3600:
        if reload_due(now, loaded_at, load):
            busy += load
            now += load
            loaded_at = now
        now += 0.5  # the next batch of units
    assert busy / now <= 1 / (RELOAD_SHARE + 1) + 0.01
