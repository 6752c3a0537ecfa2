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
