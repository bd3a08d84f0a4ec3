"""OpenHands' DockerSandboxService calls (1.7.0 and 1.11.0, docker-py 7.1.0), replayed through a filtered socket.

Usage: DOCKER_HOST=unix://<filtered socket> python3 docker_py_replay.py <image> <sandbox name> <other user's container name>
Prints one JSON object: what each call returned, or the status code of the error it raised.
"""
import json
import sys

import docker
from docker.errors import APIError, NotFound

image, name, other = sys.argv[1:4]
out = {}


def status_of(call):
    try:
        call()
        return 200
    except NotFound:
        return 404
    except APIError as error:
        return error.status_code


# docker.from_env() with version "auto" (spec service L31): GET /version without a prefix.
client = docker.from_env()
out["api_version"] = client.api._version
# Spec service: images.get(spec id); when missing, images.pull (no registry here: the daemon's error passes through).
out["image_tags"] = client.images.get(image).tags
repository, tag = image.rsplit(":", 1)
out["pull_status"] = status_of(lambda: client.images.pull(repository, tag=tag))
# DSS start_sandbox: containers.run with OpenHands' arguments.
container = client.containers.run(
    image,
    command=["--port", "8000"],
    remove=False,
    name=name,
    environment={
        "OH_SESSION_API_KEYS_0": "session-key-of-" + name,
        "OH_WEBHOOKS_0_BASE_URL": "http://host.docker.internal:3000/api/v1/webhooks",
        "LOG_JSON": "true",
    },
    ports={8000: 41001, 8001: 41002, 8011: 41003, 8012: 41004},
    volumes={},
    working_dir="/workspace/project",
    labels={"sandbox_spec_id": image},
    detach=True,
    init=True,
    extra_hosts={"host.docker.internal": "host-gateway"},
    network_mode=None,
    devices=None,
)
out["run_id"] = container.id
# DSS search: containers.list(all=True) (no filters), an inspect by Id for each.
out["listed"] = [c.name for c in client.containers.list(all=True)]
# DSS get_sandbox: containers.get(name); container.image.tags (GET /images/<id>/json).
got = client.containers.get(name)
out["status_after_run"] = got.status
out["ports"] = got.attrs["NetworkSettings"]["Ports"]
out["spec_tags"] = got.image.tags
# pause_sandbox / resume_sandbox.
got.pause()
got.reload()
out["status_after_pause"] = got.status
got.unpause()
got.reload()
out["status_after_unpause"] = got.status
got.stop(timeout=10)
got.reload()
out["status_after_stop"] = got.status
got.start()
got.reload()
out["status_after_start"] = got.status
# Another user's container: not found by name, not listed.
out["other_get_status"] = status_of(lambda: client.containers.get(other))
# delete_sandbox: stop, remove, then the workspace volume if any.
got.stop(timeout=10)
got.remove()
out["get_after_remove_status"] = status_of(lambda: client.containers.get(name))
out["volume_get_status"] = status_of(lambda: client.volumes.get("openhands-workspace-" + name))
out["listed_after_remove"] = [c.name for c in client.containers.list(all=True)]
print(json.dumps(out))
