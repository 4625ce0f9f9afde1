"""Stands in for modules/shared_state.py (A1111 v1.10.1): State (`shared.state`), the
progress and the Skip / Interrupt flags of the running job.

As in the host: skip(), interrupt(), stop_generating() set their flag; nextjob() counts a
finished batch; begin(job) starts a job (job_count -1, "not known yet"; flags cleared;
timestamp); end() sets job_count back to 0. Live previews, logging and server
commands are left out.
"""

import datetime
import time


class State:
    skipped = interrupted = stopping_generation = processing_has_refined_job_count = False
    job, job_timestamp, textinfo, time_start = "", "0", None, None
    job_no = job_count = sampling_step = sampling_steps = id_live_preview = 0
    current_image_sampling_step, current_latent, current_image = 0, None, None

    def skip(self):
        self.skipped = True

    def interrupt(self):
        self.interrupted = True

    def stop_generating(self):
        self.stopping_generation = True  # finish the current image, then stop

    def nextjob(self):
        self.job_no += 1
        self.sampling_step = self.current_image_sampling_step = 0

    def begin(self, job: str = "(unknown)"):
        self.job, self.job_count, self.job_no = job, -1, 0
        self.job_timestamp = f"{datetime.datetime.now():%Y%m%d%H%M%S}"
        self.time_start = time.monotonic()
        for flag in ("skipped", "interrupted", "stopping_generation",
                     "processing_has_refined_job_count"):
            setattr(self, flag, False)
        self.sampling_step = self.current_image_sampling_step = self.id_live_preview = 0
        self.current_latent = self.current_image = self.textinfo = None

    def end(self):
        self.job, self.job_count = "", 0

    def dict(self):
        names = ("skipped", "interrupted", "stopping_generation", "job", "job_count",
                 "job_timestamp", "job_no", "sampling_step", "sampling_steps")
        return {name: getattr(self, name) for name in names}
