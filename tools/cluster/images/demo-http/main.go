// Command demo-http is the kubelet lab's demo Pod: an HTTP server on :8080 (or $PORT) that answers every
// request with "<pod> on <node>\n", from $POD_NAME and $NODE_NAME (the downward API), so a client sees which
// Pod behind a Service answered. SIGTERM stops it.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	answer := fmt.Sprintf("%s on %s\n", os.Getenv("POD_NAME"), os.Getenv("NODE_NAME"))
	server := &http.Server{
		Addr:              ":" + port,
		ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			_, _ = fmt.Fprint(w, answer)
		}),
	}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(ctx)
	}()
	log.Printf("demo-http: listening on :%s, answering %q", port, answer)
	if err := server.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
