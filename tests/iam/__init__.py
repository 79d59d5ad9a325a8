"""Who may call what, proved offline by an IAM policy engine in make test.

- `calls`: a botocore hook that records, per function, every AWS call a handler makes in the tests,
  as the IAM request it is (action and resource ARN; an index ARN for a Query on an index).
- `policies`: the roles and managed policies of a template as SAM translates it (aws-sam-translator,
  offline, in the SAM tool environment), every intrinsic resolved; what the platform does with a
  function's role that no code call shows (the stream mapping, its on-failure queue, logs, X-Ray, the
  schedule).
- `simulate.mjs`: the engine, @cloud-copilot/iam-simulate (npm, pinned in package-lock.json,
  AGPL-3.0-or-later), a test tool that is never shipped with the functions.
"""
