"""Prefect settings that ``seqlab run`` changes for its own flow runs (no server needed)."""

from __future__ import annotations

from prefect.settings import get_current_settings, temporary_settings

from flows.pipeline import heartbeats_only_for_a_lasting_server


def test_heartbeats_are_off_for_a_temporary_server_and_restored_after() -> None:
    """Without PREFECT_API_URL the runs go to a server that stops with the process: no heartbeats,
    whose thread would hold each flow's end for up to a second."""
    with temporary_settings(restore_defaults={"api.url"}):
        assert get_current_settings().api.url is None
        default = get_current_settings().flows.heartbeat_frequency
        assert default is not None
        with heartbeats_only_for_a_lasting_server():
            assert get_current_settings().flows.heartbeat_frequency is None
        assert get_current_settings().flows.heartbeat_frequency == default


def test_heartbeats_stay_for_a_lasting_server() -> None:
    """With a server configured (a deployment's, say) crashed runs are detected by heartbeats."""
    server = {"api.url": "http://127.0.0.1:4200/api", "flows.heartbeat_frequency": 60}
    with temporary_settings(updates=server), heartbeats_only_for_a_lasting_server():
        assert get_current_settings().flows.heartbeat_frequency == 60


def test_a_sigterm_is_noted_and_handed_on_to_the_handler_before() -> None:
    """Inside TensorFlow the exception Prefect's handler raises can come out as a SystemError; the
    note is what lets the alert still say the run crashed."""
    import os
    import signal

    import pytest

    from flows.pipeline import _noting_sigterm

    class Terminated(BaseException):
        pass

    def prefects(signum: int, frame: object) -> None:
        raise Terminated

    before = signal.signal(signal.SIGTERM, prefects)
    try:
        signalled: list[int] = []
        with pytest.raises(Terminated), _noting_sigterm(signalled):
            os.kill(os.getpid(), signal.SIGTERM)  # handled at the next bytecode, in this thread
        assert signalled == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is prefects  # restored
        quiet: list[int] = []
        with _noting_sigterm(quiet):
            pass
        assert quiet == []
    finally:
        signal.signal(signal.SIGTERM, before)
