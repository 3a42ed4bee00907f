module bench-delay

go 1.22
