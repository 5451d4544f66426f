package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
)

var version = "dev"
var health = "200"
var crash = "no"

func main() {
	if crash == "yes" {
		fmt.Fprintln(os.Stderr, "crashing on purpose")
		os.Exit(1)
	}
	code, err := strconv.Atoi(health)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad health code:", health)
		os.Exit(2)
	}
	http.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, version)
	})
	http.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(code)
		if code == http.StatusOK {
			fmt.Fprint(w, "ok")
		} else {
			fmt.Fprint(w, http.StatusText(code))
		}
	})
	// LISTEN_HOST: a target in a container is checked from outside it.
	host := os.Getenv("LISTEN_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	addr := host + ":" + os.Getenv("PORT")
	fmt.Println("listening on", addr, "version", version)
	if err := http.ListenAndServe(addr, nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
