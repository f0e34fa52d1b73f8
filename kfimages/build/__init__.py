"""From image names to built images: plan, buildx command lines, schedule, report, run."""
