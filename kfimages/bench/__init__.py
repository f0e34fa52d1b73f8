"""`invoke bench`: measured figures of the images and of the build system, written to
bench/results.md and bench/results.png (`nox -s bench`; not CI).

Its parts (`--only`), in the order they run, and the module of each:

    plan      loading the graph, the affected set, every image's plan     planning
    chain     a throwaway chain: first build, no-op rebuild, --jobs 1 v 2  chain
    cold      a `--no-cache` build of the images, then their no-op rebuild builds
    startup   per image the size, `docker run` to the first HTTP 200
              through /init and bare, the idle memory                      startup, probes
    jobs      `--jobs 1` versus `--jobs 2` of independent images           builds

Besides: machine (facts of the host), results (the figures and their arithmetic),
markdown and chart (results.md, results.png), run (the order and the options). Every image
and container it makes carries the `kfnb-bench` prefix or label and is removed at the end.
"""
