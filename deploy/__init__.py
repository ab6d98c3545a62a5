"""Deployment: the embedded stack launcher, compose and Kubernetes material."""
