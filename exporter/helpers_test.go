package exporter

import (
	"bytes"

	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kube-job-exporter/kube-job-exporter/metricstore"
)

func metav1DeleteOptions() metav1.DeleteOptions { return metav1.DeleteOptions{} }

func parseBody(body []byte) ([]*dto.MetricFamily, error) {
	return metricstore.ParseText(bytes.NewReader(body))
}
