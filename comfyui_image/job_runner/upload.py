"""A finished prompt's files, streamed from the pod's GET /view to s3://<outputs bucket>/jobs/<owner>/<id>/."""
from __future__ import annotations

from typing import List

from .context import Lease, PodHandle, RunnerContext
from .outputs import output_files, output_record
from .workflow_prefix import job_folder


async def upload_outputs(ctx: RunnerContext, lease: Lease, pod: PodHandle, history_entry: dict) -> List[dict]:
    records = []
    folder = job_folder(ctx.contract.local_output_subfolder, lease.job_id)
    for file in output_files(history_entry):
        key = file.key(ctx.contract.outputs_key_prefix, lease.owner, lease.job_id, folder)
        size = await ctx.outputs.upload(key, file.content_type,
                                        pod.client.view(file.filename, file.subfolder, file.folder_type))
        records.append(output_record(file, key, size))
    return records
