package app

import (
	"flag"

	"github.com/org/image-pipeline/internal/config"
)

func flagParse() { flag.Parse() }

func configInputs() []config.Input { return config.Inputs }
