"""Who may touch what: the accesses a stack's snapshot implies, evaluated by a pinned IAM simulator (docs/access.md).

The mocks decide what exists; this package decides who may touch it. ``documents`` reads every policy a snapshot
holds (and the ones referenced stacks recorded), ``accesses`` derives the requests a deploy and the running
platform make, ``simulator`` asks @cloud-copilot/iam-simulate (a separate process: AGPL-3.0), ``report`` renders
the verdicts for the preview and the review comment.
"""
