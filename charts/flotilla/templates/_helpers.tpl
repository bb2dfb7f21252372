{{/* The chart name, or nameOverride. */}}
{{- define "flotilla.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The full name of the release's resources: <release>-flotilla, or the release name when it holds the chart name. */}}
{{- define "flotilla.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flotilla.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flotilla.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "flotilla.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "flotilla.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "flotilla.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "flotilla.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Lease the replicas elect a leader with: one per release. */}}
{{- define "flotilla.leaseName" -}}
{{- printf "%s-leader" (include "flotilla.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The rules over namespaced resources: every verb the operator sends, nothing more (see the README's
RBAC summary). Bound cluster-wide, or in watchNamespace only.
*/}}
{{- define "flotilla.namespacedRules" -}}
# MicroServices and Rollouts: read through watches; their status written with server-side apply.
- apiGroups: [flotilla.dev]
  resources: [microservices]
  verbs: [list, watch]
- apiGroups: [flotilla.dev]
  resources: [microservices/status, rollouts/status]
  verbs: [patch]
# Rollouts: a one-shot request (promote, abort, retry) is cleared from the spec once carried out.
- apiGroups: [flotilla.dev]
  resources: [rollouts]
  verbs: [list, watch, patch]
# Children: watched (labelled managed-by flotilla), written with server-side apply (a PATCH; `create`
# too, which the API server asks for when the apply creates the object), deleted when no longer wanted.
- apiGroups: [apps]
  resources: [deployments, statefulsets]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [batch]
  resources: [jobs]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [services]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [autoscaling]
  resources: [horizontalpodautoscalers]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [networking.k8s.io]
  resources: [networkpolicies]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [policy]
  resources: [poddisruptionbudgets]
  verbs: [list, watch, create, patch, delete]
# Routes, when Istio or the Gateway API is installed: also a GET, to tell whether a route of the same name is someone else's.
- apiGroups: [networking.istio.io]
  resources: [virtualservices, destinationrules]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [gateway.networking.k8s.io]
  resources: [httproutes]
  verbs: [get, list, watch, create, patch, delete]
# Tracing (spec.observability.tracing), when Istio's Telemetry kind is served: <name>-tracing sets the sampling.
- apiGroups: [telemetry.istio.io]
  resources: [telemetries]
  verbs: [list, watch, create, patch, delete]
# Databases (spec.database): the finalizer on the MicroService (a merge patch), and the Secret
# <name>-db (watched, labelled managed-by flotilla; created once, then server-side applied; a GET
# confirms a miss of the cache before a new password is made).
- apiGroups: [flotilla.dev]
  resources: [microservices]
  verbs: [patch]
- apiGroups: [""]
  resources: [secrets]
  verbs: [get, list, watch, create, patch]
# Config changes are releases: the ConfigMaps and Secrets a MicroService references (env valueFrom,
# envFrom, files) are watched so that an edit rolls its pods. Only the referenced ones are kept, as a
# SHA-256 per key; one that becomes referenced later is read with a GET. (Secrets: the rule above.)
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
# Analysis: a Rollout's AnalysisRuns are created (from its templates, read with a GET), stopped
# (spec.terminate, a merge patch) and the old ones deleted by the release; the analysis controller
# watches them and writes their status. Secret arguments and Prometheus credentials are read with the
# secrets rule above.
- apiGroups: [flotilla.dev]
  resources: [analysisruns]
  verbs: [list, watch, create, patch, delete]
- apiGroups: [flotilla.dev]
  resources: [analysisruns/status]
  verbs: [patch]
- apiGroups: [flotilla.dev]
  resources: [analysistemplates]
  verbs: [get]
# Events on MicroServices and Rollouts: created, then their count bumped.
- apiGroups: [""]
  resources: [events]
  verbs: [create, patch]
{{- end }}
