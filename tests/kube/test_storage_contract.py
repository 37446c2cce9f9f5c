"""The storage and restore contracts, unchanged, on ConfigMaps and Secrets of the real control plane.

Every contract test (``tests/storage/test_contract.py``, the edge-case table included)
is collected here again with the ``storage`` fixture replaced: each test gets a fresh
namespace and a store (with its own cache and watch) over it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scim_server.storage import Storage, open_storage
from tests.storage.test_contract import (  # noqa: F401  (collected here again)
    people,
    test_bad_filters_raise_invalid_filter,
    test_concurrent_member_adds_lose_no_member,
    test_concurrent_patches_lose_no_update,
    test_create_then_get_returns_the_same_resource,
    test_delete_with_stale_if_match_keeps_the_resource,
    test_directories_are_isolated,
    test_edge_values_are_found_by_every_operator_in_either_case,
    test_edge_values_are_stored_exactly_in_every_attribute,
    test_edge_values_clash_with_their_other_case_for_unique_names,
    test_filtered_member_removal,
    test_filters_select_the_right_users,
    test_get_unknown_id_raises_not_found,
    test_get_without_members_skips_them,
    test_group_display_name_is_unique,
    test_group_members_are_a_relation,
    test_group_membership_filters,
    test_list_without_members_projection_reads_no_members,
    test_member_change_bumps_the_group_version,
    test_member_change_on_unknown_group_raises_not_found,
    test_pagination_and_total_results,
    test_purge_inactive_deletes_only_deactivated_users_of_the_directory,
    test_removing_listed_members_never_empties_the_group,
    test_replace_bumps_version_and_rejects_a_stale_if_match,
    test_replace_members_sets_exactly_the_given_members,
    test_replace_onto_a_taken_user_name_fails_and_keeps_data,
    test_sort_by_user_name_descending,
    test_stats_and_delete_directory,
    test_unknown_member_is_rejected_and_nothing_changes,
    test_user_name_is_unique_case_insensitively,
    test_user_shows_its_groups_and_deleting_it_removes_memberships,
)
from tests.storage.test_restore_contract import (  # noqa: F401  (collected here again)
    test_a_batch_is_all_or_none,
    test_a_batch_may_hold_nested_groups_in_any_order_and_in_a_cycle,
    test_a_group_is_restored_with_its_members_and_users_see_it,
    test_a_malformed_export_raises_invalid_value,
    test_a_member_of_another_directory_is_unknown,
    test_a_restored_user_reads_back_as_exported,
    test_a_restored_version_is_a_weak_etag_that_if_match_accepts,
    test_an_unknown_member_raises_invalid_value_and_stores_nothing,
    test_restore_takes_members_types_from_the_directory_not_the_document,
    test_restored_resources_are_found_by_their_indexed_attributes,
    test_restoring_a_taken_id_raises_uniqueness,
    test_restoring_a_taken_name_raises_uniqueness,
)

KUBE_BACKENDS = ["configmaps", "secrets"]


@pytest.fixture(params=KUBE_BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def storage(backend: str, namespace: str) -> Iterator[Storage]:
    """A ConfigMap (or Secret) store over a namespace of its own, ready to serve."""
    store = open_storage(f"{backend}://{namespace}", write_rate=200.0)
    yield store
    store.close()
