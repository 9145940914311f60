using Derecho.Samples.Counter;

// No arguments: start a 3-member group as 3 child processes on loopback and check they agree.
// With --member: run one member (what the children do).
return args.Length == 0 || args[0] != "--member"
    ? await Launcher.RunGroupAsync(args)
    : await Member.RunAsync(MemberArguments.Parse(args));
