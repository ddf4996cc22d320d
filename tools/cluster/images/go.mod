module keepalived-operator/tools/cluster/images

go 1.26.0
