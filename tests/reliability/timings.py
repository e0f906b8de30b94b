"""The pipeline's timings compressed for the chaos suite, as template parameter overrides.

Production's backoff starts at 15 s and is capped at 30 min, a crashed batch comes back after
180 s, and an orphaned email claim lapses after 300 s: minutes of faults would take hours. Here
the backoff starts at 1 s and is capped at 16 s, a crashed batch is back after 14 s, and a claim
lapses after 24 s. The worker timeout cannot shrink as far: an email job needs 9 s of budget to
start (the SES and connect timeouts), and a batch of ten needs a few seconds on top.
"""

WORKER_TIMEOUT_S = 12
EMAIL_CLAIM_LEASE_S = 24
COMPRESSED_TIMINGS = {
    "WorkerTimeout": str(WORKER_TIMEOUT_S),
    "WorkerQueueVisibilityTimeout": "14",
    "RetryBaseSeconds": "1",
    "RetryMaxSeconds": "16",
    "EmailClaimLeaseSeconds": str(EMAIL_CLAIM_LEASE_S),
    # A hang must outlast the read timeout to be one; half a second is still far above a local charge.
    "PaymentApiTimeoutSeconds": "0.5",
}
