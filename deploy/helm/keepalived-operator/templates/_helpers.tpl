{{/* Labels of every object of the chart. */}}
{{- define "keepalived-operator.labels" -}}
app.kubernetes.io/name: keepalived-operator
app.kubernetes.io/part-of: keepalived-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* Selector of the controller pods (must match the kustomize base's). */}}
{{- define "keepalived-operator.selector" -}}
app.kubernetes.io/name: keepalived-operator
app.kubernetes.io/component: controller
{{- end }}

{{/* Namespaces that hold KeepalivedGroups, as a list. */}}
{{- define "keepalived-operator.agentNamespaces" -}}
{{- .Values.agent.namespaces | default (list .Release.Namespace) | uniq | toJson }}
{{- end }}
