{{/* The chart's name, or nameOverride. */}}
{{- define "wallet-support.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's full name; every object's name starts with it. */}}
{{- define "wallet-support.fullname" -}}
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

{{/* Labels of every object. */}}
{{- define "wallet-support.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "wallet-support.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one process: (dict "ctx" $ "component" "rasa"). */}}
{{- define "wallet-support.selectorLabels" -}}
app.kubernetes.io/name: {{ include "wallet-support.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* The one image all three processes and the migration job run. */}}
{{- define "wallet-support.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/* Where browsers reach the assistant: publicUrl, else built from the ingress host. */}}
{{- define "wallet-support.publicUrl" -}}
{{- if .Values.publicUrl -}}
{{- .Values.publicUrl | trimSuffix "/" -}}
{{- else if .Values.ingress.tls -}}
{{- printf "https://%s" .Values.ingress.host -}}
{{- else -}}
{{- printf "http://%s" .Values.ingress.host -}}
{{- end -}}
{{- end -}}

{{/*
An env entry read from the release's Secret, under the variable's own name:
(dict "ctx" $ "name" "RASA_AUTH_TOKEN" "optional" true).
*/}}
{{- define "wallet-support.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .ctx.Values.secrets.existingSecret | quote }}
      key: {{ .name }}
{{- if .optional }}
      optional: true
{{- end }}
{{- end -}}

{{/*
REDIS_PASSWORD, from the Secret or empty. It must come before any variable that spells
$(REDIS_PASSWORD) in its value: Kubernetes expands only variables defined earlier.
*/}}
{{- define "wallet-support.redisPasswordEnv" -}}
{{- if .Values.redis.auth -}}
{{ include "wallet-support.secretEnv" (dict "ctx" . "name" "REDIS_PASSWORD") }}
{{- else -}}
- name: REDIS_PASSWORD
  value: ""
{{- end -}}
{{- end -}}

{{/* A Redis URL with the password expanded by Kubernetes: (dict "ctx" $ "db" 2). */}}
{{- define "wallet-support.redisUrl" -}}
{{- printf "redis://:$(REDIS_PASSWORD)@%s:%v/%v" .ctx.Values.redis.host .ctx.Values.redis.port .db -}}
{{- end -}}
