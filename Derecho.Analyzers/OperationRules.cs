using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>Sends each operation of a method body to the rules that look at its kind, and records its calls.</summary>
internal static class OperationRules
{
    public static void Visit(CallGraph graph, MethodFacts facts, IOperation operation)
    {
        var findings = facts.Findings;
        switch (operation)
        {
            case IPropertyReferenceOperation property:
                DeterminismRules.PropertyReference(property, findings);
                MachineFactRules.Member(property.Property, property, findings);
                BlockingRules.PropertyReference(property, findings);
                graph.AddCall(facts, property.Property.GetMethod, IsVirtual(property.Instance));
                graph.AddCall(facts, property.Property.SetMethod, IsVirtual(property.Instance));
                break;
            case IInvocationOperation invocation:
                DeterminismRules.Invocation(invocation, findings);
                DeterminismRules.VersionedUpdate(invocation, findings);
                HashCodeRules.Invocation(invocation, findings);
                MachineFactRules.Member(invocation.TargetMethod, invocation, findings);
                BlockingRules.Invocation(invocation, findings);
                StaticMutationRules.Invocation(invocation, findings);
                StateMutationRules.Invocation(graph, facts, invocation);
                HashOrderRules.Sink(invocation, facts);
                HashOrderRules.Passed(graph, facts, invocation.TargetMethod, invocation.Arguments);
                if (KnownSymbols.NameOf(invocation.TargetMethod.ContainingType) == "System.Linq.Enumerable" && invocation.TargetMethod.IsExtensionMethod && invocation.Arguments.Length > 0)
                    HashOrderRules.Linq(invocation, facts);
                graph.AddCall(facts, invocation.TargetMethod, invocation.IsVirtual);
                break;
            case IObjectCreationOperation creation:
                DeterminismRules.ObjectCreation(creation, findings);
                StateMutationRules.ObjectCreation(graph, facts, creation);
                HashOrderRules.Creation(creation, facts);
                HashOrderRules.Passed(graph, facts, creation.Constructor, creation.Arguments);
                graph.AddCall(facts, creation.Constructor);
                break;
            case IMethodReferenceOperation reference:
                graph.AddCall(facts, reference.Method, reference.IsVirtual);
                break;
            case IAwaitOperation await:
                DeterminismRules.Await(await, findings);
                break;
            case ILockOperation @lock:
                DeterminismRules.Lock(@lock, findings);
                BlockingRules.Lock(@lock, findings);
                break;
            case ICollectionExpressionOperation collection:
                HashOrderRules.Spread(collection, facts);
                break;
            case IForEachLoopOperation forEach:
                HashOrderRules.ForEach(forEach, facts);
                break;
            case IAssignmentOperation assignment:
                DeterminismRules.Write(assignment.Target, assignment, findings);
                StateMutationRules.Write(facts, assignment.Target, assignment);
                break;
            case IIncrementOrDecrementOperation increment:
                DeterminismRules.Write(increment.Target, increment, findings);
                StateMutationRules.Write(facts, increment.Target, increment);
                break;
        }
    }

    // A property has no IsVirtual: its accessors are called virtually unless through 'base'.
    private static bool IsVirtual(IOperation? instance) =>
        instance is not null && !(instance is IInstanceReferenceOperation && instance.Syntax.IsKind(SyntaxKind.BaseExpression));
}
