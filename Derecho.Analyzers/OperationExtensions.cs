using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Operations;

namespace Derecho.Analyzers;

internal static class OperationExtensions
{
    /// <summary>The operation under any implicit or explicit conversions.</summary>
    public static IOperation Unwrap(this IOperation operation)
    {
        while (operation is IConversionOperation conversion) operation = conversion.Operand;
        return operation;
    }

    /// <summary>
    /// The static field or property a reference is rooted at (<c>s_cache.Items[k]</c> → <c>s_cache</c>),
    /// or null when it is rooted at an instance, a local or a parameter.
    /// </summary>
    public static ISymbol? StaticRoot(this IOperation? operation)
    {
        while (operation is not null)
        {
            switch (operation.Unwrap())
            {
                case IFieldReferenceOperation { Field.IsStatic: true, Field.IsConst: false } field: return field.Field;
                case IPropertyReferenceOperation { Property.IsStatic: true } property: return property.Property;
                case IFieldReferenceOperation field: operation = field.Instance; break;
                case IPropertyReferenceOperation property: operation = property.Instance; break;
                case IArrayElementReferenceOperation element: operation = element.ArrayReference; break;
                case IInlineArrayAccessOperation inline: operation = inline.Instance; break;
                default: return null;
            }
        }
        return null;
    }

    /// <summary>"Type.Member" as a user reads it.</summary>
    public static string ShortName(this ISymbol symbol) => symbol.ContainingType.Name + "." + symbol.Name;
}
