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
            var values = operation.Arguments.Select(a => a.Value.Unwrap()).ToList();
            var replacement = method.Name == "Combine" && values.All(v => StableElement(v.Type))
                ? StableHash + "Combine(" + string.Join(", ", values.Select(v => v.Syntax.ToString())) + ")"
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
        if (type == "System.Collections.Generic.EqualityComparer" && method.ContainingType.TypeArguments.FirstOrDefault() is { } compared
            && GeneratedHashAdvice(compared) is { } comparedAdvice)
        {
            findings.Add(Finding.Ordered(Descriptors.ProcessHash, operation, operation.Syntax.ToString(), comparedAdvice));
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
        else if (method.Parameters.Length == 0 && receiver is not null && GeneratedHashAdvice(receiver) is { } advice)
            findings.Add(Finding.Ordered(Descriptors.ProcessHash, operation, operation.Syntax.ToString(), advice, TupleReplacement(operation.Instance)));
        else if (method.Parameters.Length == 0 && receiver is not null && HasIdentityHash(receiver))
            findings.Add(Finding.Ordered(Descriptors.ProcessHash, operation, operation.Syntax.ToString(), IdentityAdvice));
    }

    /// <summary>
    /// StableHash.Combine over a tuple's elements, when it has 1 to 6 whose hashes StableHash makes stable and the tuple
    /// is written out or held by a plain name (read twice, a call or property would run twice); null otherwise.
    /// </summary>
    private static string? TupleReplacement(IOperation instance)
    {
        var value = instance.Unwrap();
        if (value is ITupleOperation tuple)
            return tuple.Elements.Length is >= 1 and <= 6 && tuple.Elements.All(e => StableElement(e.Unwrap().Type))
                ? StableHash + "Combine(" + string.Join(", ", tuple.Elements.Select(e => e.Syntax.ToString())) + ")"
                : null;
        if (value is not (ILocalReferenceOperation or IParameterReferenceOperation) || value.Type is not INamedTypeSymbol { IsTupleType: true } type) return null;
        var elements = type.TupleElements;
        return elements.Length is >= 1 and <= 6 && elements.All(e => StableElement(e.Type))
            ? StableHash + "Combine(" + string.Join(", ", elements.Select((_, i) => value.Syntax + ".Item" + (i + 1))) + ")"
            : null;
    }

    /// <summary>
    /// Whether StableHash.Combine hashes a value of this type the same in every process: strings (it hashes their UTF-8)
    /// and types whose own hash is stable. Object, interfaces and type parameters say nothing about the value.
    /// </summary>
    private static bool StableElement(ITypeSymbol? type) =>
        type is not null && (type.SpecialType == SpecialType.System_String
            || type.SpecialType != SpecialType.System_Object && type.TypeKind is not (TypeKind.Interface or TypeKind.TypeParameter or TypeKind.Dynamic)
            && Why(type, 0) is null && !HasIdentityHash(type));

    /// <summary>
    /// Why the hash a type gets without writing one differs per process, or null when it does not (or cannot be
    /// known: object, interfaces, type parameters, a GetHashCode of the compilation's own, which is followed).
    /// Tuples hash with System.HashCode; a root record class mixes in its Type's identity hash (a derived one starts
    /// from its base's hash instead); ValueType.GetHashCode (a struct without its own) is not stable across processes;
    /// record structs, derived records and anonymous types combine their members' hashes, so one such member is enough.
    /// </summary>
    public static string? GeneratedHashAdvice(ITypeSymbol type) =>
        type.SpecialType == SpecialType.System_String ? null : Why(type, 0); // a string has its own advice, and a code fix

    // Only ever a member's reason (a string receiver has its own advice), so never shown.
    private const string StringMember = "string";

    private static string? Why(ITypeSymbol type, int depth)
    {
        if (depth > 4) return null;
        if (type.SpecialType == SpecialType.System_String) return StringMember;
        if (type is IArrayTypeSymbol) return "; an array's hash is its identity hash, which depends on its allocation: hash its elements with StableHash";
        if (type is not INamedTypeSymbol named || type.TypeKind is TypeKind.Enum or TypeKind.Interface or TypeKind.TypeParameter) return null;
        if (named.IsTupleType || KnownSymbols.NameOf(named) == "System.ValueTuple")
            return "; a tuple's hash is System.HashCode's, seeded randomly per process: use StableHash.Combine over its elements";
        if (named.OriginalDefinition.SpecialType == SpecialType.System_Nullable_T) return Why(named.TypeArguments[0], depth + 1);
        if (named.SpecialType != SpecialType.None) return null; // primitives, decimal, DateTime, object
        var own = named.GetMembers("GetHashCode").OfType<IMethodSymbol>().FirstOrDefault(m => m.IsOverride && m.Parameters.Length == 0);
        if (named.IsAnonymousType || named.IsRecord && named.TypeKind == TypeKind.Struct && own is { IsImplicitlyDeclared: true })
            return Members(named, depth);
        if (named.IsRecord && named.TypeKind == TypeKind.Class)
        {
            if (own is { IsImplicitlyDeclared: false }) return null; // its own, followed like any method
            // Generated: a root record mixes in its Type's identity hash; a derived one starts from base.GetHashCode()
            // and combines its own fields, so it is stable when the base's hash and those fields' are.
            if (named.BaseType is not { IsRecord: true } baseRecord)
                return "; a record class's generated hash mixes in its Type's identity hash, which differs per process: override GetHashCode with StableHash.Combine over its members";
            return Why(baseRecord, depth + 1) ?? Members(named, depth);
        }
        if (named.TypeKind == TypeKind.Struct && own is null)
            return "; a struct without its own GetHashCode hashes with ValueType.GetHashCode, which differs per process: override it with StableHash.Combine over its fields";
        if (named.TypeKind == TypeKind.Class && HasIdentityHash(named)) return IdentityAdvice;
        return null;
    }

    /// <summary>The first member (declared in the type itself) of a record or anonymous type whose hash differs per process, as advice.</summary>
    private static string? Members(ITypeSymbol type, int depth)
    {
        IEnumerable<(string Name, ITypeSymbol Type)> members = type.IsAnonymousType
            ? type.GetMembers().OfType<IPropertySymbol>().Select(p => (p.Name, p.Type))
            : type.GetMembers().OfType<IFieldSymbol>().Where(f => !f.IsStatic && !f.IsConst).Select(f => (f.AssociatedSymbol?.Name ?? f.Name, f.Type));
        foreach (var (name, memberType) in members)
            if (Why(memberType, depth + 1) is not null)
                return "; its generated hash combines the hash of '" + name + "' (" + memberType.ToDisplayString(SymbolDisplayFormat.MinimallyQualifiedFormat)
                       + "), which differs per process: use StableHash.Combine over its members";
        return null;
    }

    /// <summary>
    /// A class whose GetHashCode is object's (or Type's, which is identity too). Static type object or an
    /// interface says nothing about the instance, so those are not flagged.
    /// </summary>
    public static bool HasIdentityHash(ITypeSymbol type)
    {
        if (type.TypeKind != TypeKind.Class || type.SpecialType == SpecialType.System_Object) return false;
        if (type.IsAnonymousType) return false; // a generated hash over its members: GeneratedHashAdvice judges it
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
