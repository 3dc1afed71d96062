// Command churn predicts which customers are about to leave, says why, and
// tells the customer-success team what to do about it.
package main

import (
	"os"

	"github.com/churnlab/churn/cmd"
)

func main() { os.Exit(cmd.Main()) }
