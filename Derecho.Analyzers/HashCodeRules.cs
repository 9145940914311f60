using System.Collections.Generic;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

/// <summary>
/// DER0010: hash codes that differ per process. String hashes are randomized (Marvin, seeded per process),
/// <c>System.HashCode</c> mixes in a random per-process seed, and identity hashes depend on allocation.
/// </summary>
internal static class HashCodeRules
{
    private const string StableHash = "global::Derecho.Layout.StableHash.";
    private const string StringAdvice = "; string hashes are randomized per process: use StableHash.Of (XxHash64 of the UTF-8 bytes)";
    private const string IdentityAdvice = "; an identity hash depends on the object's allocation: hash its fields with StableHash";

    public static void Invocation(IInvocationOperation operation, List<Finding> findings)
    {
        var method = operation.TargetMethod;
        var type = KnownSymbols.NameOf(method.ContainingType);
        if (type == "System.HashCode" && method.Name is "Combine" or "Add")
        {
            var replacement = method.Name == "Combine"
                ? StableHash + "Combine(" + string.Join(", ", operation.Arguments.Select(a => a.Value.Syntax.ToString())) + ")"
                : null;
            findings.Add(Finding.Ordered(Descriptors.ProcessHash, operation, "HashCode." + method.Name + "(...)",
                "; System.HashCode is seeded randomly per process: use StableHash.Combine", replacement));
        }
        else if (type == "System.Runtime.CompilerServices.RuntimeHelpers" && method.Name == "GetHashCode")
            findings.Add(Finding.Ordered(Descriptors.ProcessHash, operation, "RuntimeHelpers.GetHashCode(...)", IdentityAdvice));
        else if (method.Name == "GetHashCode")
            GetHashCode(operation, type, findings);
    }

    private static void GetHashCode(IInvocationOperation operation, string type, List<Finding> findings)
    {
        var method = operation.TargetMethod;
        if (type is "System.StringComparer" || type == "System.Collections.Generic.EqualityComparer"
            && method.ContainingType.TypeArguments.FirstOrDefault()?.SpecialType == SpecialType.System_String)
        {
            findings.Add(Finding.Ordered(Descriptors.ProcessHash, operation, operation.Syntax.ToString(), StringAdvice));
            return;
        }
        if (method.IsStatic)
        {
            if (method.ContainingType.SpecialType == SpecialType.System_String) findings.Add(Finding.Ordered(Descriptors.ProcessHash, operation, "string.GetHashCode(...)", StringAdvice));
            return;
        }
        if (operation.Instance is null || method.Parameters.Length > 1) return;
        var receiver = operation.Instance.Type; // as written: ((object)name).GetHashCode() is object's, whatever name is
        if (receiver?.SpecialType == SpecialType.System_String)
        {
            var fix = method.Parameters.Length == 0 ? StableHash + "Of(" + operation.Instance.Syntax + ")" : null;
            findings.Add(Finding.Ordered(Descriptors.ProcessHash, operation, "string.GetHashCode()", StringAdvice, fix));
        }
        else if (method.Parameters.Length == 0 && receiver is not null && HasIdentityHash(receiver))
            findings.Add(Finding.Ordered(Descriptors.ProcessHash, operation, operation.Syntax.ToString(), IdentityAdvice));
    }

    /// <summary>
    /// A class whose GetHashCode is object's (or Type's, which is identity too). Static type object or an
    /// interface says nothing about the instance, so those are not flagged.
    /// </summary>
    public static bool HasIdentityHash(ITypeSymbol type)
    {
        if (type.TypeKind != TypeKind.Class || type.SpecialType == SpecialType.System_Object) return false;
        for (var current = type; current is not null; current = current.BaseType)
        {
            var name = KnownSymbols.NameOf(current);
            if (name is "System.Type" or "System.Reflection.MemberInfo" or "System.Threading.Thread") return true;
            if (current.SpecialType == SpecialType.System_Object) return true;
            if (current.GetMembers("GetHashCode").OfType<IMethodSymbol>().Any(m => m.IsOverride && m.Parameters.Length == 0)) return false;
        }
        return false;
    }
}
