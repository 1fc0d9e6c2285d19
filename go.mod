module github.com/org/image-pipeline

go 1.26

require (
	github.com/docker/docker v28.5.2+incompatible // indirect
	github.com/google/go-containerregistry v0.20.7 // indirect
	github.com/moby/buildkit v0.26.2 // indirect
	github.com/sethvargo/go-githubactions v1.3.1 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
	mvdan.cc/sh/v3 v3.12.0 // indirect
)
