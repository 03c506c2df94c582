using ApiPlatform.Grains;
using ApiPlatform.Grains.Resources;

namespace ApiPlatform.GrainTests;

public sealed class ResourceQueryWorkerTests(ClusterFixture fixture)
{
    private IResourceQueryWorker Queries => fixture.Grains.GetGrain<IResourceQueryWorker>(0);

    /// <summary>
    /// A small tenant: seven resources with repeated names, types and statuses, two created at the same instant (so
    /// <c>created_at</c> ties), then two of them updated later (so <c>updated_at</c> order differs from creation order).
    /// Another owner holds look-alike resources that must never show up or be counted.
    /// </summary>
    private async Task<(string Owner, IReadOnlyList<ResourceView> Rows)> TenantAsync()
    {
        var owner = Ids.New(Ids.User);
        var stranger = Ids.New(Ids.User);
        (string Name, string Type, string Status, bool SameInstantAsPrevious)[] specs =
        [
            ("beta", "standard", ResourceStatus.Active, false),
            ("alpha", "premium", ResourceStatus.Inactive, false),
            ("gamma", "standard", ResourceStatus.Active, false),
            ("alpha", "basic", ResourceStatus.Archived, true),
            ("delta", "premium", ResourceStatus.Active, false),
            ("beta", "standard", ResourceStatus.Inactive, false),
            ("Epsilon", "basic", ResourceStatus.Active, false),
        ];

        var ids = new List<string>();
        foreach (var spec in specs)
        {
            if (!spec.SameInstantAsPrevious)
            {
                fixture.Time.Advance(TimeSpan.FromSeconds(1));
            }

            var id = Ids.New(Ids.Resource);
            var creator = fixture.Grains.GetGrain<IResourceCreatorWorker>(0);
            var result = await creator.CreateAsync(id, new ResourceDraft(owner, spec.Name, null, spec.Type, spec.Status, "{}"), 100);
            Assert.Equal(ResourceWriteStatus.Done, result.Status);
            ids.Add(id);

            var decoy = await creator.CreateAsync(Ids.New(Ids.Resource), new ResourceDraft(stranger, spec.Name, null, spec.Type, spec.Status, "{}"), 100);
            Assert.Equal(ResourceWriteStatus.Done, decoy.Status);
        }

        foreach (var index in new[] { 2, 0 })
        {
            fixture.Time.Advance(TimeSpan.FromSeconds(1));
            var updated = await fixture.Grains.GetGrain<IResourceGrain>(ids[index])
                .UpdateAsync(owner, new ResourcePatch(null, "touched", false, null, null, null), ResourcePrecondition.None);
            Assert.Equal(ResourceWriteStatus.Done, updated.Status);
        }

        var rows = new List<ResourceView>();
        foreach (var id in ids)
        {
            rows.Add((await fixture.Grains.GetGrain<IResourceGrain>(id).GetAsync(owner))!);
        }

        return (owner, rows);
    }

    private static List<SortKey> Sort(string text) =>
        [.. text.Split(',').Select(t => t.StartsWith('-') ? new SortKey(t[1..], true) : new SortKey(t, false))];

    private static ResourceQuery Query(string owner, string sort, int limit = 100, int offset = 0, IReadOnlyList<string>? after = null,
        string? status = null, string? type = null) =>
        new(owner, status, type, Sort(sort), offset, limit, after);

    /// <summary>
    /// The order a sort must produce: each key in turn (text bytewise, as the store's BINARY/"C" collation), then the
    /// id as the last tie-breaker, in the direction of the last key (so a reversed sort reads exactly backwards).
    /// </summary>
    private static List<ResourceView> Expected(IEnumerable<ResourceView> rows, string sort)
    {
        var keys = Sort(sort);
        var comparer = Comparer<ResourceView>.Create((a, b) =>
        {
            foreach (var key in keys)
            {
                var order = key.Field switch
                {
                    "name" => string.CompareOrdinal(a.Name, b.Name),
                    "type" => string.CompareOrdinal(a.Type, b.Type),
                    "status" => string.CompareOrdinal(a.Status, b.Status),
                    "created_at" => a.CreatedAt.CompareTo(b.CreatedAt),
                    "updated_at" => a.UpdatedAt.CompareTo(b.UpdatedAt),
                    _ => throw new ArgumentException(key.Field),
                };
                if (order != 0)
                {
                    return key.Descending ? -order : order;
                }
            }

            var byId = string.CompareOrdinal(a.Id, b.Id);
            return keys[^1].Descending ? -byId : byId;
        });
        return [.. rows.Order(comparer)];
    }

    private static IEnumerable<string> IdsOf(IEnumerable<ResourceView> rows) => rows.Select(r => r.Id);

    [Fact]
    public async Task Default_sort_lists_newest_first()
    {
        var (owner, rows) = await TenantAsync();

        var page = await Queries.QueryAsync(Query(owner, "-created_at"));

        Assert.Equal(7, page.Total);
        Assert.Null(page.Next);
        Assert.Equal(IdsOf(Expected(rows, "-created_at")), IdsOf(page.Items));
        // Newest first: the last created comes first, the first created last.
        Assert.Equal(rows[^1].Id, page.Items[0].Id);
        Assert.Equal(rows[0].Id, page.Items[^1].Id);
        Assert.True(page.Items.Zip(page.Items.Skip(1)).All(p => p.First.CreatedAt >= p.Second.CreatedAt));
        // The rows are the documents themselves, exactly as the grains hold them.
        Assert.All(page.Items, item => Assert.Contains(item, rows));
    }

    [Fact]
    public async Task Sort_by_name_breaks_ties_by_id()
    {
        var (owner, rows) = await TenantAsync();

        var page = await Queries.QueryAsync(Query(owner, "name"));

        Assert.Equal(IdsOf(Expected(rows, "name")), IdsOf(page.Items));
        Assert.Equal(["Epsilon", "alpha", "alpha", "beta", "beta", "delta", "gamma"], page.Items.Select(r => r.Name));
        Assert.True(string.CompareOrdinal(page.Items[1].Id, page.Items[2].Id) < 0);
        Assert.True(string.CompareOrdinal(page.Items[3].Id, page.Items[4].Id) < 0);
    }

    [Fact]
    public async Task Multi_key_sort_orders_by_each_key_in_turn()
    {
        var (owner, rows) = await TenantAsync();

        var page = await Queries.QueryAsync(Query(owner, "status,-name"));

        Assert.Equal(IdsOf(Expected(rows, "status,-name")), IdsOf(page.Items));
        Assert.Equal(
            [("active", "gamma"), ("active", "delta"), ("active", "beta"), ("active", "Epsilon"), ("archived", "alpha"), ("inactive", "beta"), ("inactive", "alpha")],
            page.Items.Select(r => (r.Status, r.Name)));
    }

    [Fact]
    public async Task Filters_select_rows_and_give_exact_totals()
    {
        var (owner, rows) = await TenantAsync();

        foreach (var status in ResourceStatus.All.Append(null))
        {
            foreach (var type in new[] { "standard", "premium", "basic", "none", null })
            {
                var matching = rows.Where(r => (status is null || r.Status == status) && (type is null || r.Type == type)).ToList();

                var page = await Queries.QueryAsync(Query(owner, "-created_at", limit: 2, status: status, type: type));

                Assert.Equal(matching.Count, page.Total);
                Assert.Equal(IdsOf(Expected(matching, "-created_at").Take(2)), IdsOf(page.Items));
                Assert.Equal(matching.Count > 2, page.Next is not null);
            }
        }

        Assert.Equal(7, await Queries.CountAsync(owner));
    }

    [Theory]
    [InlineData("created_at")]
    [InlineData("-created_at")]
    [InlineData("name")]
    [InlineData("-updated_at")]
    [InlineData("type,-created_at")]
    [InlineData("status,-name")]
    public async Task Offset_and_keyset_paging_cover_every_row_once_in_the_same_order(string sort)
    {
        var (owner, rows) = await TenantAsync();
        var expected = IdsOf(Expected(rows, sort)).ToList();

        foreach (var limit in new[] { 1, 2, 3, 7, 10 })
        {
            var byOffset = new List<string>();
            for (var offset = 0; ; offset += limit)
            {
                var page = await Queries.QueryAsync(Query(owner, sort, limit, offset));
                Assert.Equal(7, page.Total);
                if (page.Items.Count == 0)
                {
                    break;
                }

                byOffset.AddRange(IdsOf(page.Items));
            }

            var byKeyset = new List<string>();
            IReadOnlyList<string>? after = null;
            var pages = 0;
            while (true)
            {
                var page = await Queries.QueryAsync(Query(owner, sort, limit, after: after));
                Assert.Equal(7, page.Total);
                Assert.InRange(page.Items.Count, 1, limit);
                byKeyset.AddRange(IdsOf(page.Items));
                pages++;
                Assert.True(pages <= 7, "Keyset paging did not end.");
                if (page.Next is null)
                {
                    break;
                }

                after = page.Next;
            }

            Assert.Equal(expected, byOffset);
            Assert.Equal(expected, byKeyset);
            Assert.Equal((7 + limit - 1) / limit, pages);
        }
    }

    [Fact]
    public async Task Keyset_paging_with_a_filter_covers_exactly_the_matching_rows()
    {
        var (owner, rows) = await TenantAsync();
        var active = rows.Where(r => r.Status == ResourceStatus.Active).ToList();

        var seen = new List<string>();
        IReadOnlyList<string>? after = null;
        do
        {
            var page = await Queries.QueryAsync(Query(owner, "-updated_at", 2, after: after, status: ResourceStatus.Active));
            Assert.Equal(active.Count, page.Total);
            seen.AddRange(IdsOf(page.Items));
            after = page.Next;
        }
        while (after is not null);

        Assert.Equal(IdsOf(Expected(active, "-updated_at")), seen);
    }

    [Fact]
    public async Task Last_page_has_no_next_and_an_owner_without_rows_has_an_empty_list()
    {
        var (owner, _) = await TenantAsync();

        var full = await Queries.QueryAsync(Query(owner, "name", limit: 7));
        var tail = await Queries.QueryAsync(Query(owner, "name", limit: 3, offset: 6));
        var nobody = await Queries.QueryAsync(Query(Ids.New(Ids.User), "-created_at"));

        Assert.Equal(7, full.Items.Count);
        Assert.Null(full.Next);
        Assert.Single(tail.Items);
        Assert.Null(tail.Next);
        Assert.Empty(nobody.Items);
        Assert.Equal(0, nobody.Total);
        Assert.Null(nobody.Next);
        Assert.Equal(0, await Queries.CountAsync(Ids.New(Ids.User)));
    }
}
