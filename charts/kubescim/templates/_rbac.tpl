{{/* What the operator may do to directories and the objects it owns, where they live. */}}
{{- define "kubescim.operatorRules" -}}
- apiGroups: ["kubescim.io"]
  resources: ["organizations", "scimdirectories"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["kubescim.io"]
  resources: ["organizations/status", "scimdirectories/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["secrets", "services"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
- apiGroups: ["networking.k8s.io"]
  resources: ["ingresses"]
  verbs: ["get", "list", "watch", "create", "update", "delete"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{/* What the server's token and API-key registries read (docs/security.md), where
directories live. */}}
{{- define "kubescim.serverRules" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["kubescim.io"]
  resources: ["scimdirectories"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["kubescim.io"]
  resources: ["organizations"]
  verbs: ["list"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
{{- end }}

{{/* What the webhook worker calls (docs/security.md), where directories live: it lists
Organizations and ScimDirectories, gets the signing Secrets their webhooks' secretRefs
name (RBAC cannot narrow get to names chosen later), and writes status.webhooks. */}}
{{- define "kubescim.webhooksRules" -}}
- apiGroups: ["kubescim.io"]
  resources: ["organizations", "scimdirectories"]
  verbs: ["list"]
- apiGroups: ["kubescim.io"]
  resources: ["organizations/status"]
  verbs: ["patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get"]
{{- end }}

{{/* A Role (in .namespace) or a ClusterRole (no namespace) named .name with .rules, and
its binding to the ServiceAccounts in .subjects. */}}
{{- define "kubescim.grant" -}}
{{- $root := .root }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ if .namespace }}Role{{ else }}ClusterRole{{ end }}
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "kubescim.componentLabels" (list $root .component) | nindent 4 }}
rules:
  {{- .rules | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: {{ if .namespace }}RoleBinding{{ else }}ClusterRoleBinding{{ end }}
metadata:
  name: {{ .name }}
  {{- with .namespace }}
  namespace: {{ . }}
  {{- end }}
  labels:
    {{- include "kubescim.componentLabels" (list $root .component) | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: {{ if .namespace }}Role{{ else }}ClusterRole{{ end }}
  name: {{ .name }}
subjects:
  {{- range .subjects }}
  - kind: ServiceAccount
    name: {{ include "kubescim.serviceAccountName" (list $root .) }}
    namespace: {{ $root.Release.Namespace }}
  {{- end }}
{{- end }}
