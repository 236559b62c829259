{{/* The labels every object carries. */}}
{{- define "galleon.labels" -}}
app: galleon
app.kubernetes.io/name: galleon
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* The labels that select galleon's pods. */}}
{{- define "galleon.selector" -}}
app: galleon
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Whether a kubernetes source is configured. */}}
{{- define "galleon.readsKubernetes" -}}
{{- range .Values.sources }}{{ if hasKey . "kubernetes" }}true{{ end }}{{ end }}
{{- end }}

{{/* The hub configuration, from the values. */}}
{{- define "galleon.config" -}}
{{- $mcp := merge (dict "address" "0.0.0.0:9901") .Values.mcp.settings -}}
{{- if .Values.mcp.tlsSecret -}}
{{- $tls := dict "cert" "/etc/galleon/mcp-tls/tls.crt" "key" "/etc/galleon/mcp-tls/tls.key" -}}
{{- if .Values.mcp.mutualTls -}}
{{- $_ := set $tls "clientCa" "/etc/galleon/mcp-tls/ca.crt" -}}
{{- if .Values.mcp.accessList -}}
{{- $_ := set $tls "accessList" "/etc/galleon/access/access-list" -}}
{{- end -}}
{{- end -}}
{{- $_ := set $mcp "tls" $tls -}}
{{- else -}}
{{- $_ := set $mcp "insecure" true -}}
{{- end -}}
{{- $plugins := merge (dict "cacheDir" "/var/lib/galleon/cache" "builtinDir" "/var/lib/galleon/builtin") .Values.plugins -}}
{{- $config := dict "mcp" $mcp "admin" (dict "address" "0.0.0.0:9902") "meshConfig" "/etc/galleon/config/mesh.yaml" "sources" .Values.sources "plugins" $plugins -}}
{{- if .Values.webhook.enabled -}}
{{- $_ := set $config "admission" (dict "address" "0.0.0.0:9443" "tls" (dict "cert" "/etc/galleon/webhook-tls/tls.crt" "key" "/etc/galleon/webhook-tls/tls.key")) -}}
{{- if .Values.webhook.crdsConfigMap -}}
{{- $_ := set $config "schemas" (dict "crds" (list "/etc/galleon/crds")) -}}
{{- end -}}
{{- end -}}
{{- toYaml $config -}}
{{- end }}
