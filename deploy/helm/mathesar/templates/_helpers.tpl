{{/* Names: the release's name, or NAME-mathesar when the release is not called that. */}}
{{- define "mathesar.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "mathesar.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "mathesar.labels" -}}
{{ include "mathesar.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "mathesar.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The chart's own Secret: a generated SECRET_KEY and/or the database password value. */}}
{{- define "mathesar.secretName" -}}
{{ include "mathesar.fullname" . }}-secrets
{{- end -}}

{{- define "mathesar.checks" -}}
{{- if and (eq .Values.database.mode "bundled") (gt (int .Values.replicas) 1) -}}
{{- fail (printf "replicas=%d with database.mode=bundled: the bundled PostgreSQL lives in one pod's volume and cannot be shared; set replicas=1, or use database.mode=external (with database.host) to run several replicas" (int .Values.replicas)) -}}
{{- end -}}
{{- if and (eq .Values.database.mode "external") (not .Values.database.host) -}}
{{- fail "database.mode=external needs database.host (the PostgreSQL server holding Mathesar's internal database); or set database.mode=bundled" -}}
{{- end -}}
{{- if and (eq .Values.database.mode "external") (not .Values.database.existingSecret) (not .Values.database.password) -}}
{{- fail "database.mode=external needs the database password: database.existingSecret (a Secret you made, key database.existingSecretKey) or database.password" -}}
{{- end -}}
{{- end -}}

{{/* Environment shared by the app pods and the migrate Job. */}}
{{- define "mathesar.env" -}}
- name: SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.secretKey.existingSecret | default (include "mathesar.secretName" .) }}
      key: {{ if .Values.secretKey.existingSecret }}{{ .Values.secretKey.existingSecretKey }}{{ else }}secret-key{{ end }}
- name: MATHESAR_STOP_TIMEOUT
  value: {{ .Values.stopTimeout | quote }}
# the pod runs as a non-root uid: every child runs as it (empty: unset, so no
# "ignored" warning about the image's MATHESAR_APP_USER)
- name: MATHESAR_APP_USER
  value: ""
{{- if eq .Values.database.mode "external" }}
- name: POSTGRES_HOST
  value: {{ .Values.database.host | quote }}
- name: POSTGRES_PORT
  value: {{ .Values.database.port | quote }}
- name: POSTGRES_DB
  value: {{ .Values.database.name | quote }}
- name: POSTGRES_USER
  value: {{ .Values.database.user | quote }}
- name: POSTGRES_SSLMODE
  value: {{ .Values.database.sslmode | quote }}
- name: POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret | default (include "mathesar.secretName" .) }}
      key: {{ if .Values.database.existingSecret }}{{ .Values.database.existingSecretKey }}{{ else }}postgres-password{{ end }}
{{- end }}
{{- with .Values.host }}
- name: ALLOWED_HOSTS
  value: {{ . | quote }}
- name: DOMAIN_NAME
  value: {{ printf "https://%s" . | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Pod-level settings shared by the app pods and the migrate Job. */}}
{{- define "mathesar.podCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "mathesar.probe" -}}
exec:
  command: ["mathesar-init", "healthcheck"]
periodSeconds: {{ .periodSeconds }}
timeoutSeconds: {{ .timeoutSeconds }}
{{- end -}}
