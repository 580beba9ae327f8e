# The job runner's image (docs/jobs.md, "Runner"): Python, the hashed job-runner.lock (aiohttp, boto3 and what
# they need) and the job_runner package with the jobs contract beside it. No ComfyUI, no torch, no GPU code:
# it runs on the system nodes and talks to ComfyUI pods over HTTP.
# Built and pushed beside the ComfyUI image by build_and_push.sh (tag JOB_RUNNER_TAG_PREFIX + tag). Pin the
# base by digest for a reproducible build: --build-arg JOB_RUNNER_BASE=python:3.12-slim-bookworm@sha256:<digest>
# (lock-requirements.sh resolves job-runner.lock for this Python, 3.12).
ARG JOB_RUNNER_BASE=python:3.12-slim-bookworm

FROM ${JOB_RUNNER_BASE} AS packages
COPY job-runner.lock /tmp/job-runner.lock
# --require-hashes --no-deps: a package that is not in the lock, or whose file does not match, fails the build.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps \
      -r /tmp/job-runner.lock

FROM ${JOB_RUNNER_BASE}
COPY --from=packages /opt/venv /opt/venv
# contract.py reads jobs_contract.json from the folder above the package.
COPY jobs_contract.json /app/jobs_contract.json
COPY job_runner /app/job_runner
# Bytecode compiled now, none written at run time: the pod runs with a read-only root filesystem.
RUN /opt/venv/bin/python3 -m compileall -q /app/job_runner
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Must equal COMFYUI_UID in lib/names.ts: the pods' non-root user, as for the other images.
ARG COMFYUI_UID=10001
USER ${COMFYUI_UID}:${COMFYUI_UID}
ENTRYPOINT ["python3", "-m", "job_runner"]
