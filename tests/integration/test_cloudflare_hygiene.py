"""Cloudflare hygiene (issue 13, item 5) through the real binary and the fake Cloudflare: every
live input liveroom makes carries its deployment id (drawn once, kept in the store) in `meta`;
at start and every 10 minutes it deletes the inputs its deployment made that no active room owns
(a create whose store write and rollback both failed) once 10 minutes old, and never touches
another deployment's inputs, inputs made by hand, or a create still under way.
"""

from __future__ import annotations

from liveroom_harness import wait_until

HOUR = 3600


def test_the_orphan_sweep_deletes_only_this_deployments_orphans(server, fake_cloudflare):
    srv = server(cf=fake_cloudflare)
    room = srv.create(title="Lớp học có chủ")
    deployment = fake_cloudflare.last_created()["meta"]["liveroom_deployment"]
    assert deployment.startswith("lrd_") and len(deployment) == 28
    assert fake_cloudflare.last_created()["meta"]["name"] == "Lớp học có chủ"
    owned = fake_cloudflare.last_created()["uid"]
    fake_cloudflare.age(owned, HOUR)
    ended = srv.create(title="ended")
    ended_uid = fake_cloudflare.last_created()["uid"]

    orphan = fake_cloudflare.seed({"name": "rollback failed", "liveroom_deployment": deployment}, HOUR)["uid"]
    young = fake_cloudflare.seed({"name": "a create under way", "liveroom_deployment": deployment}, 60)["uid"]
    theirs = fake_cloudflare.seed({"name": "another app", "liveroom_deployment": "lrd_" + "9" * 24}, HOUR)["uid"]
    by_hand = fake_cloudflare.seed({"name": "made in the dashboard"}, HOUR)["uid"]
    assert srv.end(ended["room_id"], ended["host_token"]).status == 200
    assert fake_cloudflare.deletes(ended_uid)  # the end deleted its input

    # The sweep runs at start: restart, and it deletes the orphan alone.
    srv.restart()
    wait_until(lambda: fake_cloudflare.deletes(orphan), 20, "the orphan to be deleted")
    wait_until(lambda: "orphan sweep: 5 live input(s), 3 made by this deployment" in srv.log_text(), 10,
               "the sweep's summary line")
    for uid in (owned, young, theirs, by_hand):
        assert not fake_cloudflare.deletes(uid), uid
    assert set(fake_cloudflare.inputs) == {owned, young, theirs, by_hand}
    assert f"orphan sweep: deleted live input {orphan}" in srv.log_text()
    assert srv.room(room["room_id"]).json()["status"] == "active"

    # The deployment id is the store's: the same after a restart, another for another store.
    srv.create(title="after the restart")
    assert fake_cloudflare.last_created()["meta"]["liveroom_deployment"] == deployment
    other = server(cf=fake_cloudflare)
    other.create(title="another deployment")
    assert fake_cloudflare.last_created()["meta"]["liveroom_deployment"] not in ("", deployment)
