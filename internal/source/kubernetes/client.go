package kubernetes

import (
	"fmt"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// coreClient adapts the core/v1 typed client to Client, so the binary
// compiles one API group's client rather than the whole clientset.
type coreClient struct{ c corev1client.CoreV1Interface }

func (c coreClient) CoreV1() corev1client.CoreV1Interface { return c.c }

// NewClient connects with a kubeconfig file, or with the pod's service
// account when kubeconfig is empty.
func NewClient(kubeconfig string) (Client, error) {
	var (
		cfg *rest.Config
		err error
	)
	if kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("sources.kubernetes: not running in a cluster (set kubeconfig): %w", err)
		}
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("sources.kubernetes.kubeconfig: %w", err)
		}
	}
	cfg.UserAgent = "redoubt"
	c, err := corev1client.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("sources.kubernetes: %w", err)
	}
	return coreClient{c}, nil
}
