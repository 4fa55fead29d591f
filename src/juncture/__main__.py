from juncture.cli import main

main()
