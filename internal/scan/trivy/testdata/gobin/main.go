// Command gobin is built by the scan tests into the test image: a Go binary
// whose embedded build information lists github.com/google/uuid, which the
// fixture DB marks as vulnerable.
package main

import (
	"fmt"

	"github.com/google/uuid"
)

func main() { fmt.Println(uuid.NewString()) }
