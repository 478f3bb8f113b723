{{/* The chart's name, or nameOverride. */}}
{{- define "weir.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The release's full name: the release name when it contains the chart's
name ("weir"), else "<release>-weir", as Flagger's chart names its objects.
*/}}
{{- define "weir.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "weir.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The labels that select the controller's pods. */}}
{{- define "weir.selectorLabels" -}}
app.kubernetes.io/name: {{ include "weir.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "weir.labels" -}}
helm.sh/chart: {{ include "weir.chart" . }}
{{ include "weir.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "weir.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "weir.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
The rules of a ClusterRole of the kustomize base (files/rbac.yaml links to
deploy/kustomize/base/rbac.yaml): one list of rules for both installs.
*/}}
{{- define "weir.baseRules" -}}
{{- $wanted := .name -}}
{{- $rules := list -}}
{{- range $document := splitList "\n---\n" (.context.Files.Get "files/rbac.yaml") -}}
{{- $object := fromYaml $document -}}
{{- if and (eq (get $object "kind") "ClusterRole") (eq (get (get $object "metadata") "name") $wanted) -}}
{{- $rules = get $object "rules" -}}
{{- end -}}
{{- end -}}
{{- if not $rules -}}
{{- fail (printf "files/rbac.yaml has no ClusterRole %s" $wanted) -}}
{{- end -}}
{{- toYaml $rules -}}
{{- end -}}
