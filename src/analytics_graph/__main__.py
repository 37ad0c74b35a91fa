from analytics_graph.cli import main

main()
