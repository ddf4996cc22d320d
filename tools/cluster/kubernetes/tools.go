//go:build tools

// Package tools pins the main packages of a kubelet cluster's components so `go mod tidy` keeps their
// dependencies: kube-controller-manager, kube-scheduler, kubelet and kube-proxy.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
