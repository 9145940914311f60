using Derecho.Analyzers;
using Derecho.Analyzers.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Testing;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Testing;

namespace Derecho.Compiler.Tests.Analyzers;

/// <summary>Runs an analyzer (or code fix) over a [Replicated] class body, with diagnostics marked up inline.</summary>
internal static class AnalyzerTest
{
    public const string Usings = """
        using System;
        using System.Collections.Generic;
        using System.Diagnostics;
        using System.IO;
        using System.Linq;
        using System.Threading;
        using System.Threading.Tasks;
        using Derecho.Persistence;
        using Derecho.Rpc;
        using MemoryPack;

        """;

    public static string Replicated(string members) => Usings + $$"""
        [Replicated]
        public partial class Subject
        {
            private long _value;
            private static long s_total;
            private readonly object _gate = new();
            private static readonly object s_gate = new();
        {{members}}
        }
        """;

    public static Task Verify<TAnalyzer>(string members) where TAnalyzer : DiagnosticAnalyzer, new() => VerifySource<TAnalyzer>(Replicated(members));

    /// <summary>As <see cref="Verify"/>, with <paramref name="otherTypes"/> (helpers the handlers reach) in the same file.</summary>
    public static Task Verify<TAnalyzer>(string members, string otherTypes, params DiagnosticResult[] expected) where TAnalyzer : DiagnosticAnalyzer, new() =>
        VerifySource<TAnalyzer>(Replicated(members) + "\n" + otherTypes, expected);

    /// <summary>As <see cref="Verify"/> for a whole source file (after <see cref="Usings"/>).</summary>
    public static Task VerifySource<TAnalyzer>(string source, params DiagnosticResult[] expected) where TAnalyzer : DiagnosticAnalyzer, new()
    {
        var test = new CSharpAnalyzerTest<TAnalyzer, DefaultVerifier> { ReferenceAssemblies = References.Empty };
        test.TestState.Sources.Add(Usings + source);
        test.ExpectedDiagnostics.AddRange(expected);
        test.TestState.AdditionalReferences.AddRange(References.All);
        return test.RunAsync();
    }

    public static Task Fix(string before, string after) =>
        FixSource<ReplicatedHandlerAnalyzer, DeterministicReplacementCodeFix>(Replicated(before), Replicated(after));

    public static Task FixSource<TAnalyzer, TFix>(string before, string after)
        where TAnalyzer : DiagnosticAnalyzer, new()
        where TFix : Microsoft.CodeAnalysis.CodeFixes.CodeFixProvider, new()
    {
        var test = new CSharpCodeFixTest<TAnalyzer, TFix, DefaultVerifier>
        {
            ReferenceAssemblies = References.Empty,
            TestCode = before,
            FixedCode = after,
        };
        test.TestState.AdditionalReferences.AddRange(References.All);
        test.FixedState.AdditionalReferences.AddRange(References.All);
        test.FixedState.MarkupHandling = MarkupMode.Allow; // diagnostics without a fix stay, marked in the fixed code
        return test.RunAsync();
    }
}
