module kubectl-dev.io/agent

go 1.26
