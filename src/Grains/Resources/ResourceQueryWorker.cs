using Orleans.Concurrency;

namespace ApiPlatform.Grains.Resources;

/// <inheritdoc cref="IResourceQueryWorker"/>
// Reentrant: the queries are pure I/O, so one activation serves many at once instead of capping a silo at
// one query per core (the stateless-worker default).
[StatelessWorker]
[Reentrant]
public sealed class ResourceQueryWorker(ResourceStore store, ResourceTypeStore types) : Grain, IResourceQueryWorker
{
    public Task<ResourcePage> QueryAsync(ResourceQuery query) => store.QueryAsync(query);

    public async Task<ResourceListOutcome> ListAsync(ResourceQuery query)
    {
        if (!query.UsesMetadata)
        {
            return new ResourceListOutcome(ResourceListStatus.Done, await store.QueryAsync(query));
        }

        if (query.Type is null)
        {
            var parameter = query.MetadataFilters is { Count: > 0 } filters ? filters[0].Parameter : "sort";
            return Invalid(parameter, "needs filter[type] naming a declared resource type: metadata fields are indexed per type");
        }

        var typeGrain = GrainFactory.GetGrain<IResourceTypeGrain>(ResourceTypeRules.Key(query.OwnerId, query.Type));
        var type = await typeGrain.GetAsync();
        if (type is null)
        {
            return Invalid("filter[type]", $"'{query.Type}' is not a declared resource type, so it has no indexed fields");
        }

        var outcome = Resolve(query, type);
        if (outcome.Status == ResourceListStatus.IndexBuilding)
        {
            // The builder tells the type's grain when it finishes; should that message have been lost, the row knows.
            type = await typeGrain.ReloadAsync() ?? type;
            outcome = Resolve(query, type);
        }

        if (outcome.Conditions is null)
        {
            return outcome.Refusal!;
        }

        if (query.After is not null && query.IndexGen != type.IndexGen)
        {
            return Invalid("cursor", "was issued before the type's indexes changed; start again from the first page");
        }

        return new ResourceListOutcome(ResourceListStatus.Done, await store.QueryAsync(query, outcome.Conditions));
    }

    public async Task<ResourceTypeList> ListTypesAsync(string ownerId, int offset, int limit)
    {
        var (items, total) = await types.ListAsync(ownerId, offset, limit);
        return new ResourceTypeList(items, total);
    }

    public Task<long> CountAsync(string ownerId) => store.CountAsync(ownerId);

    private sealed record Resolution(ResourceListStatus Status, MetadataConditions? Conditions, ResourceListOutcome? Refusal);

    /// <summary>Each metadata sort and filter on its field's slot, with the filter values in stored form.</summary>
    private static Resolution Resolve(ResourceQuery query, ResourceTypeView type)
    {
        var sortColumns = new Dictionary<string, string>();
        foreach (var key in query.Sort)
        {
            if (ResourceSortFields.MetadataField(key.Field) is { } name)
            {
                if (Field(type, name, "sort") is { } problem)
                {
                    return problem;
                }

                sortColumns[key.Field] = ResourceIndexValues.Column(type.Indexes.First(f => f.Field == name).Slot);
            }
        }

        var filters = new List<SlotFilter>();
        foreach (var filter in query.MetadataFilters ?? [])
        {
            if (Field(type, filter.Field, filter.Parameter) is { } problem)
            {
                return problem;
            }

            var field = type.Indexes.First(f => f.Field == filter.Field);
            if (field.Type == IndexedFieldTypes.Boolean && filter.Operator is not (FilterOperators.Eq or FilterOperators.In))
            {
                return Refused(ResourceListStatus.Invalid, filter.Parameter, "is a boolean field: use equality or [in]");
            }

            var values = new List<string>(filter.Values.Count);
            foreach (var text in filter.Values)
            {
                if (ResourceIndexValues.EncodeText(field.Type, text, out var error) is not { } value)
                {
                    return Refused(ResourceListStatus.Invalid, filter.Parameter, $"{error} (metadata.{field.Field} is an indexed {field.Type} field)");
                }

                values.Add(value);
            }

            filters.Add(new SlotFilter(ResourceIndexValues.Column(field.Slot), filter.Operator, values));
        }

        return new Resolution(ResourceListStatus.Done, new MetadataConditions(sortColumns, filters, type.IndexGen), null);
    }

    private static Resolution? Field(ResourceTypeView type, string name, string parameter)
    {
        var field = type.Indexes.FirstOrDefault(f => f.Field == name);
        if (field is null)
        {
            var indexed = type.Indexes.Count == 0 ? "it has none" : "indexed: " + string.Join(", ", type.Indexes.Select(f => f.Field));
            return Refused(ResourceListStatus.Invalid, parameter, $"metadata.{name} is not an indexed field of type '{type.Name}' ({indexed})");
        }

        return type.IsReady(field)
            ? null
            : Refused(ResourceListStatus.IndexBuilding, parameter, $"the index of metadata.{name} is still being built after a change of type '{type.Name}'; retry shortly");
    }

    private static Resolution Refused(ResourceListStatus status, string parameter, string message) =>
        new(status, null, new ResourceListOutcome(status, Parameter: parameter, Message: message));

    private static ResourceListOutcome Invalid(string parameter, string message) =>
        new(ResourceListStatus.Invalid, Parameter: parameter, Message: message);
}
