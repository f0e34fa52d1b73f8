"""Build system of the Kubeflow notebook server images: image graph, rebuild selection, builds."""
