"""kfimages: the build system of the Kubeflow notebook server images.

The package is laid out by stage; a module imports only from its own stage, from an earlier
stage, or from the shared modules at the top (tests/unit/test_layout.py checks it):

    shared modules   errors, settings, git, engine (the one gateway to the Docker CLI),
                     platforms, globs, names (the one grammar of NAMES), tables (text and
                     Markdown tables), dockerfiles (the Dockerfile regexes), waiting
                     (poll_until): no import of any stage
    repo/            what the repository declares: image folders and their parents (graph),
                     image.yaml (config), input digests (inputs), what changed (changes)
    build/           from names to a built image: plan, buildx, schedule, report, run, content
                     tags (taggers), the OS image (bootstrap), CA bundles (ca), BuildKit
                     secrets, the options build/smoke/bake share (options), stopping on
                     signals (stop), one build per engine (enginelock)
    ship/            what follows a build: push and manifest lists (push.publish, injected
                     into build.run), the manifest, SBOM and diff, the bake file, the
                     generated CI workflow and its pinned actions
    verify/          smoke tests: per platform, build, then pytest per image (or the plan)
    author/          what a contributor runs: `invoke new`, the README chart, lock files, the
                     files lint checks
    bench/           `invoke bench`: measured figures of the images and of the build system

Order (earlier first): shared, repo, build, ship, verify, author, bench.
"""
