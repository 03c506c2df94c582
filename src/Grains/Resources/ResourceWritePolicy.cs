using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Resources;

/// <summary>
/// The rules a resource must meet to be stored under its type, checked by every writer (the creator worker for
/// creates, the resource's grain for PUT and PATCH) on the resource exactly as it would be stored: a declared type when
/// the configuration requires one, the type's JSON Schema, the value types of its indexed fields, and the size cap of
/// the stored document. What passes comes with the guard its write must carry.
/// </summary>
public sealed class ResourceWritePolicy(ResourceSchemas schemas, IOptions<ResourceOptions> options)
{
    public ResourceOptions Options => options.Value;

    /// <summary>The refusal to answer, or null and the write's guard.</summary>
    public (ResourceWriteOutcome? Refusal, ResourceWriteGuard Guard) Check(ResourceView next, ResourceTypeView? type)
    {
        var settings = options.Value;
        if (type is null && settings.RequireDeclaredTypes)
        {
            return (ResourceWriteOutcome.Invalid(new Dictionary<string, string[]>
            {
                ["type"] = [$"'{next.Type}' is not a declared resource type; declare it with POST /v1/resource-types first"],
            }), ResourceWriteGuard.Undeclared);
        }

        var errors = new Dictionary<string, List<string>>();
        if (type is not null && schemas.Validate(type, next.Metadata) is { } invalid)
        {
            foreach (var (field, messages) in invalid)
            {
                errors[field] = [.. messages];
            }
        }

        var slots = ResourceIndexValues.Compute(next.Metadata, type, errors);
        if (errors.Count > 0)
        {
            return (ResourceWriteOutcome.Invalid(errors.ToDictionary(e => e.Key, e => e.Value.ToArray())), ResourceWriteGuard.Undeclared);
        }

        var size = ResourceDocument.SizeOf(next);
        var cap = settings.CapOf(type);
        if (size > cap)
        {
            var whose = type is null ? "resources of undeclared types" : $"type '{type.Name}'";
            return (new ResourceWriteOutcome(ResourceWriteStatus.TooLarge, null, Detail:
                $"The resource would be stored as {size} bytes; {whose} allow at most {cap} bytes. Nothing was written."), ResourceWriteGuard.Undeclared);
        }

        return (null, new ResourceWriteGuard(slots, type?.Version));
    }
}
