{{/* Names, labels and the pieces the Deployment, the topics Job and the test pod share. */}}

{{- define "slkb.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "slkb.fullname" -}}
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

{{- define "slkb.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slkb.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Pods of the topics Job and of `helm test`: a name of their own, so that neither the Service,
the PodDisruptionBudget nor the NetworkPolicy of the bridge pods selects them. */}}
{{- define "slkb.componentSelectorLabels" -}}
app.kubernetes.io/name: {{ include "slkb.name" .root }}-{{ .component }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "slkb.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "slkb.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: socketlabs-kafka-bridge
{{- end }}

{{- define "slkb.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "slkb.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "slkb.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the webhook secret key(s) and the Kafka SASL password. */}}
{{- define "slkb.secretName" -}}
{{- default (include "slkb.fullname" .) .Values.existingSecret }}
{{- end }}

{{- define "slkb.saslEnabled" -}}
{{- if hasPrefix "SASL" .Values.kafka.securityProtocol }}true{{ end }}
{{- end }}

{{/* Seconds Kubernetes waits after SIGTERM: the preStop pause, the shutdown delay, the drain, and
a margin to flush. */}}
{{- define "slkb.terminationGracePeriodSeconds" -}}
{{- $minimum := add (int .Values.lifecycle.preStopSleepSeconds) (int (ceil .Values.config.shutdownDelay)) (int (ceil .Values.config.drainTimeout)) 1 }}
{{- if .Values.terminationGracePeriodSeconds }}
{{- if lt (int .Values.terminationGracePeriodSeconds) (int $minimum) }}
{{- fail (printf "terminationGracePeriodSeconds (%d) must be more than lifecycle.preStopSleepSeconds + config.shutdownDelay + config.drainTimeout (%d), or Kubernetes kills requests still draining." (int .Values.terminationGracePeriodSeconds) (sub $minimum 1)) }}
{{- end }}
{{- .Values.terminationGracePeriodSeconds }}
{{- else }}
{{- add $minimum 9 }}
{{- end }}
{{- end }}

{{/* bridge.toml: every setting that is not a secret. TOML basic strings accept JSON string syntax. */}}
{{- define "slkb.configToml" -}}
# socketlabs-kafka-bridge configuration, rendered by the Helm chart (docs/configuration.md).
kafka_bootstrap_servers = {{ .Values.kafka.bootstrapServers | toJson }}
kafka_security_protocol = {{ .Values.kafka.securityProtocol | toJson }}
{{- if include "slkb.saslEnabled" . }}
kafka_sasl_mechanism = {{ .Values.kafka.sasl.mechanism | toJson }}
kafka_sasl_username = {{ .Values.kafka.sasl.username | toJson }}
{{- end }}
{{- with .Values.kafka.compression }}
kafka_compression = {{ . | toJson }}
{{- end }}
kafka_linger_ms = {{ int .Values.kafka.lingerMs }}
kafka_max_batch_bytes = {{ int .Values.kafka.maxBatchBytes }}
kafka_producers = {{ int .Values.kafka.producers }}
listen = "0.0.0.0:{{ .Values.ports.http }}"
admin_listen = "0.0.0.0:{{ .Values.ports.admin }}"
topic_prefix = {{ .Values.config.topicPrefix | toJson }}
produce_timeout = {{ .Values.config.produceTimeout | float64 }}
drain_timeout = {{ .Values.config.drainTimeout | float64 }}
shutdown_delay = {{ .Values.config.shutdownDelay | float64 }}
max_body_bytes = {{ int .Values.config.maxBodyBytes }}
max_inflight = {{ int .Values.config.maxInflight }}
{{- with .Values.config.allowedSources }}
allowed_sources = {{ . | toJson }}
{{- end }}
trusted_proxies = {{ .Values.config.trustedProxies | toJson }}
log_level = {{ .Values.config.logLevel | toJson }}
log_format = {{ .Values.config.logFormat | toJson }}
mask_emails = {{ .Values.config.maskEmails }}
{{- with .Values.config.extraToml }}

# config.extraToml
{{ . }}
{{- end }}
{{- end }}

{{/* Hash of what the pods read, so a configuration or secret change rolls them. */}}
{{- define "slkb.checksums" -}}
checksum/config: {{ include "slkb.configToml" . | sha256sum }}
{{- if not .Values.existingSecret }}
checksum/secret: {{ include "slkb.secretData" . | sha256sum }}
{{- end }}
{{- end }}

{{- define "slkb.secretData" -}}
{{- if .Values.secrets.secretKeys }}
secret-key: {{ join "\n" .Values.secrets.secretKeys | b64enc }}
{{- end }}
{{- with .Values.secrets.kafkaSaslPassword }}
kafka-sasl-password: {{ . | b64enc }}
{{- end }}
{{- with .Values.secrets.validationKey }}
validation-key: {{ . | b64enc }}
{{- end }}
{{- end }}

{{/* Restricted Pod Security Standard, for every container the chart runs. */}}
{{- define "slkb.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "slkb.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Environment pointing the bridge at the mounted configuration and secret files. */}}
{{- define "slkb.env" -}}
- name: BRIDGE_CONFIG
  value: /etc/socketlabs-bridge/config/bridge.toml
- name: BRIDGE_SECRET_KEY_FILE
  value: /etc/socketlabs-bridge/secrets/secret-key
{{- if include "slkb.saslEnabled" . }}
- name: BRIDGE_KAFKA_SASL_PASSWORD_FILE
  value: /etc/socketlabs-bridge/secrets/kafka-sasl-password
{{- end }}
- name: BRIDGE_VALIDATION_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "slkb.secretName" . }}
      key: validation-key
      optional: true
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "slkb.volumeMounts" -}}
- name: config
  mountPath: /etc/socketlabs-bridge/config
  readOnly: true
- name: secrets
  mountPath: /etc/socketlabs-bridge/secrets
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- with .Values.extraVolumeMounts }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* dict "root" $ "configMap" NAME "secret" NAME */}}
{{- define "slkb.volumes" -}}
- name: config
  configMap:
    name: {{ .configMap }}
- name: secrets
  secret:
    secretName: {{ .secret }}
    defaultMode: 0440
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- with .root.Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}
