package main
import (
 _ "github.com/hashicorp/raft"
 _ "github.com/hashicorp/raft-boltdb/v2"
 _ "go.etcd.io/bbolt"
 _ "github.com/cloudflare/circl/hpke"
 _ "github.com/cloudflare/circl/sign/mldsa/mldsa65"
 _ "golang.org/x/mod/sumdb/tlog"
 _ "golang.org/x/mod/sumdb/note"
 _ "github.com/go-playground/validator/v10"
 _ "github.com/gorilla/websocket"
 _ "github.com/prometheus/client_golang/prometheus"
 _ "golang.org/x/time/rate"
 _ "github.com/google/uuid"
)
func main(){}
