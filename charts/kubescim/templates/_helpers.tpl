{{/* Chart name, at most 63 characters. */}}
{{- define "kubescim.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* <release>-<chart> (the release alone when it contains the chart name), at most 63 characters. */}}
{{- define "kubescim.fullname" -}}
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

{{/* A component's object name: <fullname>-<component>, cut so the suffix survives. */}}
{{- define "kubescim.componentName" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}
{{- printf "%s-%s" (include "kubescim.fullname" $root | trunc (int (sub 62 (len $component))) | trimSuffix "-") $component }}
{{- end }}

{{- define "kubescim.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "kubescim.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubescim
{{- end }}

{{/* Selector labels of one component: (list $ "server"). */}}
{{- define "kubescim.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "kubescim.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{- define "kubescim.componentLabels" -}}
{{ include "kubescim.labels" (index . 0) }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end }}

{{/* The ServiceAccount name of a component: (list $ "operator"). */}}
{{- define "kubescim.serviceAccountName" -}}
{{- $root := index . 0 }}{{- $component := index . 1 }}
{{- $sa := (index $root.Values $component).serviceAccount }}
{{- if $sa.create }}
{{- default (include "kubescim.componentName" (list $root $component)) $sa.name }}
{{- else }}
{{- required (printf "%s.serviceAccount.name is required when %s.serviceAccount.create is false" $component $component) $sa.name }}
{{- end }}
{{- end }}

{{- define "kubescim.image" -}}
{{- $image := .Values.image }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default .Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/* Namespaces holding directories when rbac.clusterWide is false. */}}
{{- define "kubescim.watchNamespaces" -}}
{{- $namespaces := .Values.rbac.namespaces | default (list .Release.Namespace) }}
{{- toJson (dict "items" $namespaces) }}
{{- end }}

{{/* The storage URL (KUBESCIM_DATABASE_URL) env entry, shared by the server and the operator. */}}
{{- define "kubescim.storageEnv" -}}
{{- $storage := .Values.storage }}
{{- if eq $storage.backend "postgresql" }}
- name: KUBESCIM_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ required "storage.postgresql.existingSecret is required with storage.backend postgresql" $storage.postgresql.existingSecret }}
      key: {{ $storage.postgresql.secretKey }}
- name: KUBESCIM_POOL_SIZE
  value: {{ $storage.postgresql.poolSize | quote }}
{{- else }}
- name: KUBESCIM_DATABASE_URL
  value: {{ printf "%s://%s" $storage.backend .Release.Namespace | quote }}
{{- end }}
{{- end }}

{{/* Restricted Pod Security: pod level. */}}
{{- define "kubescim.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Restricted Pod Security: container level (the root filesystem is read-only; /tmp is an emptyDir). */}}
{{- define "kubescim.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Scheduling and metadata every component's pod spec takes from its values. */}}
{{- define "kubescim.podScheduling" -}}
{{- with .imagePullSecrets -}}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .values.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}
